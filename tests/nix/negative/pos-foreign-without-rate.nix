# expect: a "foreign_cash" tender needs its currency and rate
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = {
    services.cooperage.ims.enable = true;
    services.cooperage.finance.enable = true;
    services.cooperage.pos = {
      enable = true;
      tenders = [
        {
          id = "cash";
          kind = "cash";
        }
        {
          id = "eur";
          kind = "foreign_cash";
          currency = "EUR";
        }
      ];
    };
  };
}
