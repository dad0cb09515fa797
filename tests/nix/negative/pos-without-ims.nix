# expect: services.cooperage.pos.enable is true but services.cooperage.ims.enable is false
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = {
    services.cooperage.pos.enable = true;
  };
}
