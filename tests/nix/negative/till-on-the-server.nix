# expect: services.cooperage.till is for a till machine; this machine also runs the
{ lib, eval }:
let
  flake = import ../flake-outputs.nix { inherit lib eval; };
in
import ./till-eval.nix {
  inherit lib eval;
  modules = [ flake.self.nixosModules.default ];
  config = {
    security.acme = {
      acceptTerms = true;
      defaults.email = "it@coop.example.org";
    };
    services.cooperage = {
      enable = true;
      domain = "coop.example.org";
      organisation.name = "Test Co-op";
    };
  };
}
