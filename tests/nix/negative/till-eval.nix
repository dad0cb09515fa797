# Shared by the till's negative checks: evaluate hosts/till-pc plus one change
# with the flake's till module. nix-check must exit 1 with the `expect:` message.
{
  lib,
  eval,
  config,
  base ? ../../../hosts/till-pc/configuration.nix,
  modules ? [ ],
}:
let
  flake = import ../flake-outputs.nix { inherit lib eval; };
in
eval {
  modules = [
    flake.self.nixosModules.till
    ../nixos-extra.nix
  ]
  ++ modules;
  extraPackages = [ "dejavu_fonts" ];
  config = {
    imports = [
      base
      config
    ];
  };
}
