# nix-check: prints the cooperage.json the module renders for hosts/demo-server
# (the value of tests/fixtures/demo-server-cooperage.json). run.sh regenerates
# the fixture from it and fails when the committed one differs:
#   tests/nix/run.sh --update   # rewrite the fixture after a deliberate change
{ lib, eval }:
let
  flake = import ./flake-outputs.nix { inherit lib eval; };
  evaluated = eval {
    modules = [
      flake.self.nixosModules.default
      ./nixos-extra.nix
    ];
    config = ../../hosts/demo-server/configuration.nix;
  };
in
builtins.fromJSON evaluated.raw.config.environment.etc."cooperage/cooperage.json".source.text
