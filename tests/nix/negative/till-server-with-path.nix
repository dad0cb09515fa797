# expect: services.cooperage.till.server' is not of type `null or string matching the pattern https?://
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till.server = lib.mkForce "https://coop.example.org/pos";
}
