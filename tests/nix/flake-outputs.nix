# The flake's outputs, evaluated offline for nix-check: flake.nix's `outputs`
# called with a stand-in `nixpkgs` input whose lib is the real nixpkgs lib and
# whose legacyPackages are nix-check's pkgs stand-in. Only what the checks
# read is evaluated (no VM test, no build).
#
# A helper, not a check: `import ./flake-outputs.nix { inherit lib eval; }`.
{
  lib,
  eval,
  # more placeholder packages, and an overlay of the stand-in
  extraPackages ? [ ],
  pkgsOverlay ? (final: prev: { }),
}:
let
  flake = import ../../flake.nix;

  # keep what buildRustPackage was given, so checks can look at it
  recordRustArgs = final: prev: {
    rustPlatform = prev.rustPlatform // {
      buildRustPackage = args: prev.rustPlatform.buildRustPackage args // { nixCheckArgs = args; };
      rustLibSrc = prev.nixCheckPlaceholder { pname = "rust-lib-src"; };
    };
    mkShell = args: prev.nixCheckPlaceholder {
      pname = args.name or "nix-shell";
      passthru.nixCheckArgs = args;
    };
  };

  pkgsFor =
    system:
    (eval {
      config = {
        nixpkgs.hostPlatform = system;
        system.stateVersion = "26.05";
      };
      builtinChecks = false;
      inherit extraPackages;
      pkgsOverlay = lib.composeExtensions recordRustArgs pkgsOverlay;
    }).pkgs;

  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs [
      "x86_64-linux"
      "aarch64-linux"
    ] pkgsFor;
  };

  # nixos-hardware's board modules, restated (nixos-hardware-rpi4.nix)
  nixos-hardware = {
    nixosModules.raspberry-pi-4 = ./nixos-hardware-rpi4.nix;
  };

  self = flake.outputs { inherit self nixpkgs nixos-hardware; } // {
    outPath = toString ../..;
    inputs = {
      inherit nixpkgs nixos-hardware;
    };
  };
in
{
  inherit flake self pkgsFor;
  # the pkgs stand-in with the project's placeholders and the recorder
  pkgs = pkgsFor "x86_64-linux";
  inherit recordRustArgs;
}
