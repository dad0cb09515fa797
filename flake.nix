{
  description = "Cooperage: a member-owned food co-op's shop, run from one NixOS configuration";

  # Written exactly as `original` in flake.lock, so Nix does not re-lock.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
  # The Raspberry Pi board modules (kernel, device tree) of the till image.
  inputs.nixos-hardware.url = "github:NixOS/nixos-hardware";

  outputs =
    {
      self,
      nixpkgs,
      nixos-hardware,
    }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The service binaries the workspace builds (bin/coop-<name>). A new
      # service adds its name here and a module in nixos-modules/.
      binaries = [
        "coop-sso"
        "coop-pos"
      ];

      version = (lib.importTOML ./Cargo.toml).workspace.package.version;

      # The Rust workspace, without the files only Nix reads, so that editing
      # a module or a test does not rebuild the Rust code.
      src = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.difference ./. (
          lib.fileset.unions (
            map lib.fileset.maybeMissing [
              ./flake.nix
              ./flake.lock
              ./nixos-modules
              ./hosts
              ./secrets
              ./tests/nix
              ./tests/vm
              ./docs/operators.md
            ]
          )
        );
      };

      # Everything the flake builds from the workspace, for one package set.
      # No git dependencies in Cargo.lock, so no vendor hash is needed.
      cooperagePackages =
        pkgs:
        let
          workspace =
            args:
            pkgs.rustPlatform.buildRustPackage (
              {
                pname = "cooperage";
                inherit version src;
                cargoLock.lockFile = ./Cargo.lock;
                # every binary of the workspace but the developer tool
                cargoBuildFlags = [
                  "--workspace"
                  "--exclude"
                  "xtask"
                ];
                # the tests run in `checks` (they need PostgreSQL)
                doCheck = false;
                # sqlx's query macros read the committed .sqlx/ instead of a database
                env.SQLX_OFFLINE = "true";
                meta = {
                  description = "Cooperage services for a member-owned food co-op";
                  license = lib.licenses.agpl3Plus;
                  platforms = lib.platforms.linux;
                };
              }
              // args
            );

          cooperage = workspace { };

          # bin/<name> alone, e.g. for `nix run .#coop-sso -- check-config ...`
          binary =
            name:
            pkgs.runCommand "${name}-${version}"
              {
                meta = cooperage.meta // {
                  mainProgram = name;
                };
              }
              ''
                mkdir -p $out/bin
                ln -s ${cooperage}/bin/${name} $out/bin/${name}
              '';
        in
        {
          inherit cooperage;

          # The checks that need the workspace's vendored dependencies.
          cooperage-clippy = workspace {
            pname = "cooperage-clippy";
            nativeBuildInputs = [ pkgs.clippy ];
            buildPhase = ''
              runHook preBuild
              cargo clippy --workspace --all-targets --offline -- -D warnings
              runHook postBuild
            '';
            installPhase = "touch $out";
            dontCargoInstall = true;
          };
          cooperage-tests = workspace {
            pname = "cooperage-tests";
            doCheck = true;
            cargoTestFlags = [ "--workspace" ];
            # the end-to-end tests start their own PostgreSQL
            nativeCheckInputs = [ pkgs.postgresql ];
            # The tests that drive software from npm and PyPI (openid-client, Synapse,
            # aiosmtpd, Chromium with axe-core) are behind each crate's `interop` feature,
            # off here: the sandbox reaches no registry. `cargo xtask test` turns it on.
          };
        }
        // lib.genAttrs binaries binary;

      # The developer tools: the Rust toolchain, PostgreSQL and what the
      # end-to-end tests drive (Synapse, a browser, load generators).
      devTools =
        pkgs:
        lib.filter (lib.meta.availableOn pkgs.stdenv.hostPlatform) (
          with pkgs;
          [
            cargo
            rustc
            clippy
            rustfmt
            rust-analyzer
            stdenv.cc
            postgresql
            nodejs
            python3
            (matrix-synapse.override {
              extras = [
                "oidc"
                "postgres"
              ];
            })
            chromium
            chromedriver
            curl
            jq
            wrk
            hey
            sqlite
            nixfmt
          ]
        );
    in
    {
      overlays.default =
        final: prev:
        removeAttrs (cooperagePackages final) [
          "cooperage-clippy"
          "cooperage-tests"
        ];

      packages = forAllSystems (
        pkgs:
        let
          all = cooperagePackages pkgs;
        in
        removeAttrs all [
          "cooperage-clippy"
          "cooperage-tests"
        ]
        // {
          default = all.cooperage;
        }
        # the till's SD card image (hosts/till-pi), flashed as docs/tills.md says
        // lib.optionalAttrs (pkgs.stdenv.hostPlatform.system == "aarch64-linux") {
          till-sd-image = self.nixosConfigurations.till-pi.config.system.build.sdImage;
        }
      );

      # `cooperage`: the module alone (it wants `pkgs.cooperage`, e.g. from
      # `overlays.default`); `default`: the module with the package built
      # from this flake against the machine's own nixpkgs.
      nixosModules.cooperage = ./nixos-modules/cooperage.nix;
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ self.nixosModules.cooperage ];
          services.cooperage.package = lib.mkDefault (cooperagePackages pkgs).cooperage;
        };

      # `till`: a till machine (nixos-modules/till.nix), with the package built
      # from this flake, as `default` is for the server.
      nixosModules.till =
        { lib, pkgs, ... }:
        {
          imports = [ ./nixos-modules/till.nix ];
          services.cooperage.till.package = lib.mkDefault (cooperagePackages pkgs).cooperage;
        };

      nixosConfigurations.demo-server = nixpkgs.lib.nixosSystem {
        modules = [
          self.nixosModules.default
          ./hosts/demo-server/configuration.nix
        ];
      };

      # A till on a Raspberry Pi 4 (an SD card image: packages.aarch64-linux.till-sd-image)
      # and one on an old x86 PC (installed from the NixOS installer); docs/tills.md.
      nixosConfigurations.till-pi = nixpkgs.lib.nixosSystem {
        modules = [
          self.nixosModules.till
          nixos-hardware.nixosModules.raspberry-pi-4
          ./hosts/till-pi/configuration.nix
        ];
      };
      nixosConfigurations.till-pc = nixpkgs.lib.nixosSystem {
        modules = [
          self.nixosModules.till
          ./hosts/till-pc/configuration.nix
        ];
      };

      checks = forAllSystems (
        pkgs:
        let
          all = cooperagePackages pkgs;
        in
        {
          # NixOS VM test: boot, bootstrap an admin, invite and sign in a
          # member, sign in to Matrix through coop-sso (see tests/vm/server.nix)
          vm-server = pkgs.testers.runNixOSTest (import ./tests/vm/server.nix { inherit self; });
          # NixOS VM test: a server and a till; pairing, sales online and offline, the
          # kiosk (see tests/vm/till.nix)
          vm-till = pkgs.testers.runNixOSTest (import ./tests/vm/till.nix { inherit self; });

          clippy = all.cooperage-clippy;
          tests = all.cooperage-tests;
          fmt =
            pkgs.runCommand "cooperage-fmt"
              {
                nativeBuildInputs = [
                  pkgs.findutils
                  pkgs.rustfmt
                ];
              }
              ''
                cd ${src}
                find . -name '*.rs' -not -path './target/*' -print0 \
                  | xargs -0 --no-run-if-empty rustfmt --check --edition 2021
                touch $out
              '';
        }
        # the example server builds (including check-config of its cooperage.json)
        // lib.optionalAttrs (pkgs.stdenv.hostPlatform.system == "x86_64-linux") {
          demo-server = self.nixosConfigurations.demo-server.config.system.build.toplevel;
          # the PC till builds (including check-config of its till.json)
          till-pc = self.nixosConfigurations.till-pc.config.system.build.toplevel;
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = devTools pkgs;
          env.RUST_SRC_PATH = "${pkgs.rustPlatform.rustLibSrc}";
        };
      });

      # `nix run .#demo`: the README's demo (`cargo xtask demo`), with the
      # tools it needs; run it from a checkout of this repository.
      apps = forAllSystems (pkgs: {
        demo = {
          type = "app";
          meta.description = "Run the Cooperage demo (cargo xtask demo) from a checkout";
          program = lib.getExe (
            pkgs.writeShellApplication {
              name = "cooperage-demo";
              runtimeInputs = with pkgs; [
                cargo
                rustc
                stdenv.cc
                postgresql
              ];
              text = ''
                if ! grep -qs '^\[workspace\]' Cargo.toml || [ ! -d xtask ]; then
                  echo "cooperage-demo: run this from a checkout of the Cooperage repository" >&2
                  exit 1
                fi
                exec cargo xtask demo "$@"
              '';
            }
          );
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-tree);
    };
}
