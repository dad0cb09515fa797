# nix-check: the documentation of every `services.cooperage` option, from
# the declarations (lib.optionAttrSetToDocList), for render-options.py,
# which writes the option reference in docs/operators.md. run.sh checks that
# the reference is up to date; `tests/nix/run.sh --update` rewrites it.
{ lib, eval }:
let
  flake = import ./flake-outputs.nix { inherit lib eval; };
  root = toString ../.. + "/";
  evaluated = eval {
    modules = [
      flake.self.nixosModules.cooperage
      ./nixos-extra.nix
    ];
    config = {
      system.stateVersion = "26.05";
      nixpkgs.overlays = [ flake.self.overlays.default ];
    };
  };
  docs = lib.optionAttrSetToDocList evaluated.raw.options.services.cooperage;
in
map (
  o:
  {
    inherit (o) name description type;
    readOnly = o.readOnly or false;
    declarations = map (d: lib.removePrefix root (toString d)) o.declarations;
  }
  // lib.optionalAttrs (o ? default) { default = o.default; }
  // lib.optionalAttrs (o ? example) { example = o.example; }
) (
  lib.filter (
    o: o.visible && !o.internal && !(lib.hasPrefix "services.cooperage.internal." o.name)
  ) docs
)
