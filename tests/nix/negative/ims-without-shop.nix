# expect: services.cooperage.ims.locations needs at least one location of kind "shop"
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = {
    services.cooperage.ims = {
      enable = true;
      locations = [
        {
          code = "lager";
          name = "Lagret";
          kind = "storeroom";
        }
      ];
    };
  };
}
