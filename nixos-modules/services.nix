# The shared shape of a Cooperage service.
#
# A service module (sso.nix, later pos.nix, ...) registers itself here:
#
#   services.cooperage.internal.services.pos = {
#     enable = true;
#     description = "Cooperage point of sale";
#     listen = cfg.pos.listen;
#     credentials = { ... };   # name = file, loaded with LoadCredential
#   };
#
# and gets, from this file:
#   - systemd unit `coop-<name>`: `coop-<name> serve`, as a dynamic user named
#     after its database role (`coop_<section>`), sandboxed, with its state
#     directory, its credentials and the shared ones, restarted on failure,
#     ordered after PostgreSQL (and after generated secrets exist);
#   - PostgreSQL database and role `coop_<section>` (peer authentication);
#   - an nginx location on the co-op's domain (`/` for sso, `/<name>/` else),
#     with /metrics kept off the internet;
#   - the `listen` key of its section in cooperage.json;
#   - its database in the nightly dump;
#   - `cooperage-manage <name> ...`, which runs any subcommand of the binary
#     in the same sandbox as the service (same user, credentials, state);
#   - a build-time `check-config` of the rendered cooperage.json.
#
# It also runs `cooperage-secrets.service`, which generates at first boot the
# secrets two programs must share (OIDC client secrets) and that the operator
# did not provide, so no secret ever enters the Nix store.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  inherit (lib)
    concatLists
    concatMapStringsSep
    escapeShellArg
    literalExpression
    mapAttrs'
    mapAttrsToList
    mkIf
    mkOption
    nameValuePair
    types
    ;

  cfg = config.services.cooperage;
  services = lib.filterAttrs (_: s: s.enable) cfg.internal.services;
  configPath = "/etc/cooperage/cooperage.json";

  secretsDir = "/var/lib/cooperage-secrets";
  generated = cfg.internal.generatedSecrets;
  secretsUnit = lib.optional (generated != [ ]) "cooperage-secrets.service";

  # nginx proxy_pass target for a `listen` value ("127.0.0.1:8101" or "unix:/run/x.sock")
  upstream = listen: if lib.hasPrefix "unix:" listen then "http://${listen}:" else "http://${listen}";

  serviceModule =
    { name, config, ... }:
    {
      options = {
        enable = lib.mkEnableOption "this Cooperage service";
        description = mkOption {
          type = types.str;
          description = "Description= of the unit.";
        };
        section = mkOption {
          type = types.str;
          default = lib.replaceStrings [ "-" ] [ "_" ] name;
          defaultText = literalExpression ''replaceStrings [ "-" ] [ "_" ] name'';
          description = "The service's section under `services` in cooperage.json (e.g. `buyers_club`).";
        };
        unit = mkOption {
          type = types.str;
          default = "coop-${name}";
          description = "Name of the systemd unit, the state directory and the binary.";
        };
        package = mkOption {
          type = types.package;
          default = cfg.package;
          defaultText = literalExpression "config.services.cooperage.package";
          description = "Package whose `bin/<unit>` is the service's binary.";
        };
        database = mkOption {
          type = types.str;
          default = "coop_${config.section}";
          defaultText = literalExpression ''"coop_''${section}"'';
          description = ''
            PostgreSQL database and role, and so also the unit's user name:
            peer authentication matches the Unix user to the role.
          '';
        };
        listen = mkOption {
          type = types.str;
          description = "Address the service listens on (`host:port` or `unix:/path`).";
        };
        urlPath = mkOption {
          type = types.str;
          default = "/${name}/";
          description = "Path on the co-op's domain that nginx passes to the service, unchanged.";
        };
        credentials = mkOption {
          type = types.attrsOf types.str;
          default = { };
          description = "Credentials (name = file) loaded with LoadCredential, beside the shared ones.";
        };
        after = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Further units to start after (and to require).";
        };
        serviceConfig = mkOption {
          type = types.attrsOf types.anything;
          default = { };
          description = "Further [Service] settings, overriding the defaults.";
        };
      };
    };

  # systemd sandbox of every Cooperage service (see systemd.exec(5)).
  hardening = import ./hardening.nix;

  loadCredential = s: mapAttrsToList (n: file: "${n}:${file}") (cfg.internal.credentials // s.credentials);

  # what makes a process "the service": identity, credentials, state, sandbox
  identity = s: {
    DynamicUser = true;
    User = s.database;
    Group = s.database;
    StateDirectory = s.unit;
    StateDirectoryMode = "0700";
    LoadCredential = loadCredential s;
  };

  unitFor = s: {
    description = s.description;
    wantedBy = [ "multi-user.target" ];
    after = [
      "network.target"
      "postgresql.target"
    ]
    ++ secretsUnit
    ++ s.after;
    requires = [ "postgresql.target" ] ++ secretsUnit ++ s.after;
    restartTriggers = [ cfg.configFile ];
    environment = {
      COOPERAGE_CONFIG = configPath;
      # The database URL names the socket folder, not the port: PostgreSQL's clients (sqlx
      # too) take it from PGPORT, so a server on another port is still found.
      PGPORT = toString config.services.postgresql.settings.port;
      # glibc otherwise keeps the large blocks argon2 frees (19 MiB each) in its arenas for
      # good; with a fixed mmap threshold they go back to the system (measured in tests/bench:
      # 8.9 GiB kept after a burst of sign-ins, 22 MiB with this).
      MALLOC_MMAP_THRESHOLD_ = "1048576";
    };
    serviceConfig =
      hardening
      // identity s
      // {
        Type = "exec";
        ExecStart = utils.escapeSystemdExecArgs [
          (lib.getExe' s.package s.unit)
          "serve"
          "--config"
          configPath
        ];
        # for a `unix:` listen address; nginx (another user) must reach it
        RuntimeDirectory = s.unit;
        RuntimeDirectoryMode = "0755";
        Restart = "on-failure";
        RestartSec = "5s";
        # `serve` drains requests on SIGTERM
        TimeoutStopSec = "30s";
      }
      // s.serviceConfig;
  };

  # `cooperage-manage sso bootstrap-admin --email ...`: run a subcommand as a
  # transient unit with the service's identity and sandbox, so it reaches the
  # database (peer authentication), its credentials and its state directory
  # exactly as the running service does. RuntimeDirectory is left out: the
  # transient unit would remove the running service's one when it ends.
  systemdRunProperty =
    key: value:
    if lib.isList value then
      concatLists (map (systemdRunProperty key) value)
    else
      [
        "-p"
        "${key}=${
          if lib.isBool value then
            (if value then "yes" else "no")
          else
            toString value
        }"
      ];
  manageCase = name: s: ''
    ${name})
      shift
      exec systemd-run --quiet --collect --wait --pipe --service-type=exec \
        --description=${escapeShellArg "cooperage-manage ${name}"} \
        --setenv=COOPERAGE_CONFIG=${configPath} \
        --setenv=PGPORT=${toString config.services.postgresql.settings.port} \
        ${
          lib.escapeShellArgs (
            concatLists (
              mapAttrsToList systemdRunProperty (
                lib.getAttrs [
                  "NoNewPrivileges"
                  "PrivateTmp"
                  "PrivateDevices"
                  "ProtectHome"
                  "ProtectSystem"
                  "UMask"
                ] hardening
                // identity s
              )
            )
          )
        } \
        -- ${lib.getExe' s.package s.unit} "$@"
      ;;
  '';
  # `cooperage-manage restore SERVICE FILE`: the service's database back from a dump, as
  # docs/operators.md ("Restore") does by hand.
  restoreCase = name: s: ''
    ${name}) unit=${escapeShellArg "${s.unit}.service"}; database=${escapeShellArg s.database} ;;
  '';
  manage = pkgs.writeShellApplication {
    name = "cooperage-manage";
    # (gzip and systemctl come with every NixOS system's PATH)
    runtimeInputs = [
      config.services.postgresql.package
      pkgs.util-linux
    ];
    text = ''
      usage() {
        cat >&2 <<'EOF'
      usage: cooperage-manage SERVICE COMMAND [ARGUMENTS...]
             cooperage-manage restore SERVICE DUMP

      Runs `coop-SERVICE COMMAND ARGUMENTS...` as the service does (same user,
      database role, credentials and state directory), with
      COOPERAGE_CONFIG=${configPath}. Run it as root.
      `restore` stops the service, replaces its database with the dump (a
      pg_dump -C file, plain or .gz, such as /var/backup/postgresql/coop_sso.sql.gz)
      and starts the service again.

      services: ${lib.concatStringsSep " " (lib.attrNames services)}
      example:  cooperage-manage sso bootstrap-admin --email ada@example.org --name "Ada Lovelace"
                cooperage-manage restore sso /var/backup/postgresql/coop_sso.prev.sql.gz
      EOF
      }
      if [ "$#" -lt 2 ]; then usage; exit 2; fi
      if [ "$(id -u)" != 0 ]; then
        echo "cooperage-manage: run it as root (sudo cooperage-manage ...)" >&2
        exit 1
      fi
      if [ "$1" = restore ]; then
        if [ "$#" -ne 3 ]; then usage; exit 2; fi
        case "$2" in
        ${lib.concatStrings (lib.mapAttrsToList restoreCase services)}
        *)
          echo "cooperage-manage: no enabled service \"$2\"" >&2
          exit 2
          ;;
        esac
        dump=$3
        if [ ! -r "$dump" ]; then
          echo "cooperage-manage: cannot read $dump" >&2
          exit 1
        fi
        # Check the dump before anything is dropped: a broken file must change nothing.
        case "$dump" in
        *.gz) gzip -t "$dump" ;;
        esac
        export PGPORT=${toString config.services.postgresql.settings.port}
        systemctl stop "$unit"
        runuser -u postgres -- dropdb --if-exists "$database"
        case "$dump" in
        *.gz) gzip -dc "$dump" ;;
        *) cat "$dump" ;;
        esac | runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -d postgres
        systemctl start "$unit"
        echo "cooperage-manage: $database restored from $dump; $unit started" >&2
        exit 0
      fi
      case "$1" in
      ${lib.concatStrings (lib.mapAttrsToList manageCase services)}
      *)
        echo "cooperage-manage: no enabled service \"$1\"" >&2
        usage
        exit 2
        ;;
      esac
    '';
  };

  # Each binary validates the rendered config while the system is built (as
  # NixOS does for nginx.conf), so a key the binaries do not know fails the
  # build instead of the service at boot. Not when cross-compiling.
  checkConfig =
    s:
    pkgs.runCommand "${s.unit}-check-config" { } ''
      ${lib.getExe' s.package s.unit} check-config --config ${cfg.configFile} > $out
    '';
in
{
  options.services.cooperage = {
    checkConfig = mkOption {
      type = types.bool;
      default = pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform;
      defaultText = literalExpression "pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform";
      description = ''
        Whether every service binary runs `check-config` on the rendered
        cooperage.json while the system is built.
      '';
    };

    internal = {
      services = mkOption {
        type = types.attrsOf (types.submodule serviceModule);
        default = { };
        internal = true;
        description = "The Cooperage services, as their modules register them (see services.nix).";
      };
      generatedSecrets = mkOption {
        type = types.listOf types.str;
        default = [ ];
        internal = true;
        description = ''
          Names of secrets that cooperage-secrets.service generates at first
          boot, each into ${secretsDir}/<name>, when the operator provides none.
        '';
      };
    };
  };

  config = mkIf cfg.enable {
    assertions =
      let
        listens = mapAttrsToList (_: s: s.listen) services;
      in
      [
        {
          assertion = lib.length listens == lib.length (lib.unique listens);
          message = ''
            Two Cooperage services listen on the same address: ${
              concatMapStringsSep ", " (n: "${n} on ${services.${n}.listen}") (lib.attrNames services)
            }.
            Give each its own services.cooperage.<service>.listen.
          '';
        }
      ];

    systemd.services =
      mapAttrs' (_: s: nameValuePair s.unit (unitFor s)) services
      // lib.optionalAttrs (generated != [ ]) {
        cooperage-secrets = {
          description = "Generate missing Cooperage secrets";
          wantedBy = [ "multi-user.target" ];
          path = [ pkgs.coreutils ];
          # 32 random bytes as hex: safe in any URL, header or form encoding
          script = ''
            for name in ${lib.escapeShellArgs generated}; do
              file=${secretsDir}/$name
              if [ ! -s "$file" ]; then
                tmp=$(mktemp ${secretsDir}/.new.XXXXXX)
                od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n' > "$tmp"
                mv "$tmp" "$file"
                echo "generated $file"
              fi
            done
          '';
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
            StateDirectory = "cooperage-secrets";
            StateDirectoryMode = "0700";
            UMask = "0077";
            CapabilityBoundingSet = [ "" ];
            NoNewPrivileges = true;
            PrivateNetwork = true;
            PrivateTmp = true;
            ProtectHome = true;
            ProtectSystem = "strict";
          };
        };
      };

    services.postgresql = mkIf (services != { }) {
      enable = true;
      ensureDatabases = mapAttrsToList (_: s: s.database) services;
      ensureUsers = mapAttrsToList (_: s: {
        name = s.database;
        ensureDBOwnership = true;
      }) services;
    };

    services.nginx.virtualHosts = mkIf (cfg.domain != "") {
      ${cfg.domain}.locations = lib.mkMerge (
        mapAttrsToList (
          _: s:
          {
            ${s.urlPath}.proxyPass = upstream s.listen;
            # Prometheus scrapes the service's own address, not the world
            "= ${s.urlPath}metrics".return = "404";
          }
          # "/pos" -> "/pos/"
          // lib.optionalAttrs (s.urlPath != "/" && lib.hasSuffix "/" s.urlPath) {
            "= ${lib.removeSuffix "/" s.urlPath}".return = "301 ${s.urlPath}";
          }
        ) services
      );
    };

    services.cooperage.settings.services = lib.mapAttrs' (
      _: s: nameValuePair s.section { inherit (s) listen; }
    ) services;

    services.postgresqlBackup.databases = mkIf cfg.backup.enable (
      mapAttrsToList (_: s: s.database) services
    );

    environment.systemPackages = mkIf (services != { }) [ manage ];

    system.checks = mkIf cfg.checkConfig (mapAttrsToList (_: checkConfig) services);
  };
}
