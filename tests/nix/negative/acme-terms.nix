# expect: security.acme.acceptTerms is false
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { security.acme.acceptTerms = lib.mkForce false; };
}
