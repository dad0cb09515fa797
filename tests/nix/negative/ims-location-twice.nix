# expect: services.cooperage.ims.locations: each code may be listed once
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = {
    services.cooperage.ims = {
      enable = true;
      locations = [
        {
          code = "shop";
          name = "Butiken";
        }
        {
          code = "shop";
          name = "Butiken igen";
        }
      ];
    };
  };
}
