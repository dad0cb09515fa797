# expect: services.cooperage.finance.secondBookkeeperAbove
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.finance = { enable = true; secondBookkeeperAbove = "2 000 kr"; }; };
}
