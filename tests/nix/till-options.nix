# nix-check: the documentation of every `services.cooperage.till` option, for
# render-options.py, which writes the option reference in docs/tills.md (as
# options.nix does for the server's in docs/operators.md).
{ lib, eval }:
let
  flake = import ./flake-outputs.nix { inherit lib eval; };
  root = toString ../.. + "/";
  evaluated = eval {
    modules = [
      ../../nixos-modules/till.nix
      ./nixos-extra.nix
    ];
    extraPackages = [
      "cooperage"
      "dejavu_fonts"
    ];
    config.system.stateVersion = "26.05";
  };
  docs = lib.optionAttrSetToDocList evaluated.raw.options.services.cooperage.till;
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
) (lib.filter (o: o.visible && !o.internal) docs)
