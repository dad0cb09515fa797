# expect: services.cooperage.vatClasses.food.rates
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.vatClasses.food.rates = [ { from = "2026-04-01"; percent = "6 %"; } ]; };
}
