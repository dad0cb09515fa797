# expect: set bridge.tokenFile, or anyone on the shop's network could start refunds
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till.bridge = {
    enable = true;
    listen = "0.0.0.0";
  };
}
