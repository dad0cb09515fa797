# expect: services.cooperage.till: set networking.hostName
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.networking.hostName = lib.mkForce "";
}
