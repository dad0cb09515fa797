# expect: services.cooperage.domain is not set
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.domain = lib.mkForce ""; };
}
