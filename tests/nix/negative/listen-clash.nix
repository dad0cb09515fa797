# expect: Two Cooperage services listen on the same address
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.internal.services.other = { enable = true; description = "a second service"; listen = "127.0.0.1:8101"; }; };
}
