# expect: and devices.bridgeUrl names one on another device: choose one
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till = {
    bridge.enable = true;
    devices.bridgeUrl = "http://192.168.1.40:8190";
  };
}
