# expect: must come before upper (03:00) on the same night
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till.upgrade.rebootWindow = {
    lower = "05:00";
    upper = "03:00";
  };
}
