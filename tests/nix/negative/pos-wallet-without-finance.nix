# expect: services.cooperage.pos.tenders has a "wallet" tender but services.cooperage.finance.enable is false
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = {
    services.cooperage.ims.enable = true;
    services.cooperage.pos.enable = true;
  };
}
