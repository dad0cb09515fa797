# nix-check: prints the till.json the till module renders for hosts/till-pi
# (the value of tests/fixtures/till-pi-till.json, which coop-pos's tests give to
# `coop-pos till check-config`). run.sh regenerates and compares it:
#   tests/nix/run.sh --update   # rewrite the fixture after a deliberate change
{ lib, eval }:
let
  flake = import ./flake-outputs.nix { inherit lib eval; };
  evaluated = eval {
    modules = [
      flake.self.nixosModules.till
      flake.self.inputs.nixos-hardware.nixosModules.raspberry-pi-4
      ./nixos-extra.nix
    ];
    extraPackages = [ "dejavu_fonts" ];
    config = ../../hosts/till-pi/configuration.nix;
  };
in
builtins.fromJSON evaluated.raw.config.environment.etc."cooperage/till.json".source.text
