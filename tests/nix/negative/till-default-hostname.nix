# expect: services.cooperage.till: set networking.hostName to this till's own name
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.networking.hostName = lib.mkForce "nixos";
}
