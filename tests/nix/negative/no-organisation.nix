# expect: services.cooperage.organisation.name is not set
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.organisation.name = lib.mkForce ""; };
}
