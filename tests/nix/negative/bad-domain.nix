# expect: which is not a public DNS name
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.domain = lib.mkForce "https://coop.example.org/"; };
}
