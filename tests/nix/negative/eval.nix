# Shared by the negative checks: evaluate negative/base.nix plus one change
# with the flake's module. nix-check must exit 1 with the `expect:` message.
{
  lib,
  eval,
  config,
}:
let
  flake = import ../flake-outputs.nix { inherit lib eval; };
in
eval {
  modules = [
    flake.self.nixosModules.default
    ../nixos-extra.nix
  ];
  config = {
    imports = [
      ./base.nix
      config
    ];
  };
}
