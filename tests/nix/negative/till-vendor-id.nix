# expect: USB vendor ids are four lowercase hex
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  config.services.cooperage.till.devices.extraUsbVendors."04B8" = "Epson, as some manuals print it";
}
