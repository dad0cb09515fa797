# expect: is the till's or the bridge's port: give the customer display its own
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till.devices.customerDisplayPort = 8180;
}
