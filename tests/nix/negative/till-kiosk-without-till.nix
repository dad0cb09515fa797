# expect: services.cooperage.till.kiosk.enable is true but services.cooperage.till.enable
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till = {
    enable = lib.mkForce false;
    kiosk.enable = true;
  };
}
