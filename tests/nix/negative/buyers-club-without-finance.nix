# expect: services.cooperage.buyersClub.enable is true but services.cooperage.finance.enable is false
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = {
    services.cooperage.buyersClub.enable = true;
  };
}
