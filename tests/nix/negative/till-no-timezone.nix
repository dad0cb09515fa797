# expect: services.cooperage.till: set time.timeZone
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.time.timeZone = lib.mkForce null;
}
