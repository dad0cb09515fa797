# expect: give the payment bridge another one
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till = {
    port = 8190;
    bridge.enable = true;
  };
}
