# nix-check: the flake's outputs, evaluated with stand-in inputs (nothing is
# built and nixpkgs' NixOS is absent, so nixosConfigurations and the VM test
# are left to `nix flake check` on a machine with Nix and nixpkgs).
# Run: ../shared/nix-check/nix-check tests/nix/flake-check.nix
{ lib, eval }:
let
  flake = import ./flake-outputs.nix {
    inherit lib eval;
    # the developer tools the dev shell and `apps.demo` put on PATH
    extraPackages = [
      "cargo"
      "rustc"
      "clippy"
      "rustfmt"
      "rust-analyzer"
      "nodejs"
      "chromedriver"
      "wrk"
      "hey"
      "nixfmt"
      "nixfmt-tree"
    ];
  };
  out = flake.self;
  lock = builtins.fromJSON (builtins.readFile ../../flake.lock);
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  forAll = f: lib.all f systems;
in
eval {
  config.system.stateVersion = "26.05";
  tests = {
    "flake.lock pins nixpkgs nixos-26.05, and `original` matches the input URL" =
      lock.version == 7
      && lock.root == "root"
      && lock.nodes.root.inputs == {
        nixpkgs = "nixpkgs";
        nixos-hardware = "nixos-hardware";
      }
      && lock.nodes.nixpkgs.original == {
        owner = "NixOS";
        repo = "nixpkgs";
        ref = "nixos-26.05";
        type = "github";
      }
      && lock.nodes.nixpkgs.locked.rev == "531670d871c0e29724a02f3cbcac170adc65b58c"
      && flake.flake.inputs.nixpkgs.url == "github:NixOS/nixpkgs/nixos-26.05";

    "flake.lock pins nixos-hardware at the revision of flake-pins.md, `original` matching the input URL" =
      lock.nodes.nixos-hardware.locked.rev == "740a22363033e9f1bb6270fbfb5a9574067af15b"
      && lock.nodes.nixos-hardware.locked.narHash == "sha256-yRKJ7gpVmXbX2ZcA8nFi6CMPkJXZGjie2unsiMzj3Ig="
      && lock.nodes.nixos-hardware.original == {
        owner = "NixOS";
        repo = "nixos-hardware";
        type = "github";
      }
      && flake.flake.inputs.nixos-hardware.url == "github:NixOS/nixos-hardware";

    "packages: cooperage, coop-sso, coop-pos and default, and the till's SD image on aarch64-linux" =
      forAll (
        s:
        lib.attrNames out.packages.${s}
        == [
          "coop-pos"
          "coop-sso"
          "cooperage"
          "default"
        ]
        ++ lib.optional (s == "aarch64-linux") "till-sd-image"
        && out.packages.${s}.default == out.packages.${s}.cooperage
      );

    "nixosModules.till is the till module with the package built from the flake" =
      lib.isFunction out.nixosModules.till;

    "nixosConfigurations: the demo server and the two tills" =
      lib.attrNames out.nixosConfigurations == [
        "demo-server"
        "till-pc"
        "till-pi"
      ];

    "cooperage is built from Cargo.lock, every workspace binary but xtask, tests left to checks" =
      let
        a = out.packages.x86_64-linux.cooperage.nixCheckArgs;
      in
      a.pname == "cooperage"
      && a.version == "0.1.0"
      && a.cargoLock == { lockFile = ../../Cargo.lock; }
      && a.cargoBuildFlags == [
        "--workspace"
        "--exclude"
        "xtask"
      ]
      && !a.doCheck
      && a.env.SQLX_OFFLINE == "true";

    "coop-sso is bin/coop-sso of the workspace build, with mainProgram" =
      let
        p = out.packages.x86_64-linux.coop-sso;
      in
      p.env.meta.mainProgram == "coop-sso"
      && lib.hasInfix "${out.packages.x86_64-linux.cooperage}/bin/coop-sso $out/bin/coop-sso" p.buildCommand;

    "overlays.default adds cooperage, coop-sso and coop-pos" =
      let
        pkgs =
          (eval {
            config = {
              system.stateVersion = "26.05";
              nixpkgs.overlays = [ out.overlays.default ];
            };
          }).pkgs;
      in
      pkgs.cooperage.name == "cooperage-0.1.0"
      && pkgs.coop-sso.name == "coop-sso-0.1.0"
      && pkgs.coop-pos.name == "coop-pos-0.1.0";

    "nixosModules: cooperage is the module file, default adds the package" =
      out.nixosModules.cooperage == ../../nixos-modules/cooperage.nix && lib.isFunction out.nixosModules.default;

    "checks: clippy denies warnings, the test suite runs with PostgreSQL, rustfmt checks" = forAll (
      s:
      let
        ch = out.checks.${s};
      in
      lib.hasInfix "cargo clippy --workspace --all-targets --offline -- -D warnings" ch.clippy.nixCheckArgs.buildPhase
      && ch.tests.nixCheckArgs.doCheck
      && ch.tests.nixCheckArgs.cargoTestFlags == [ "--workspace" ]
      # (its script reads the fileset source, which Nix 2.8 cannot evaluate)
      && lib.any (p: p.pname == "rustfmt") ch.fmt.env.nativeBuildInputs
      && ch ? vm-server
      && ch ? vm-till
    );

    "apps.demo runs `cargo xtask demo` from a checkout" = forAll (
      s:
      let
        app = out.apps.${s}.demo;
      in
      app.type == "app" && lib.hasSuffix "/bin/cooperage-demo" app.program && app.meta.description != ""
    );

    "devShells.default has Rust, PostgreSQL, node, python and Synapse" =
      let
        names = map (p: p.pname or p.name) out.devShells.x86_64-linux.default.nixCheckArgs.packages;
      in
      lib.all (n: lib.elem n names) [
        "cargo"
        "rustc"
        "clippy"
        "postgresql"
        "nodejs"
        "python3"
        "matrix-synapse"
        "curl"
      ];
  };
}
