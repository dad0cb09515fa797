# expect: services.cooperage.till.watchdogSec' is not of type `integer between 10 and 600
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till.watchdogSec = 2;
}
