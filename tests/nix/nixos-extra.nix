# NixOS options the Cooperage modules use that nix-check's nixos-options.nix
# does not declare, restated from nixpkgs (interface, and what the real
# modules set that our checks read), in the manner of nix-check's own files:
#
#   services.postgresqlBackup  nixos/modules/services/backup/postgresql-backup.nix
#   system.checks              nixos/modules/system/activation/top-level.nix
#   systemd.settings           nixos/modules/system/boot/systemd.nix (the [Manager]
#                              section of system.conf; systemd.watchdog.* moved here)
#
# Only nix-check evaluations import this; on NixOS the real modules are there.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.postgresqlBackup;
in
{
  options = {
    systemd.settings = mkOption {
      type = types.submodule {
        freeformType = types.attrsOf (
          types.attrsOf (
            types.oneOf [
              types.bool
              types.int
              types.str
              (types.listOf types.str)
            ]
          )
        );
      };
      default = { };
      description = "Sections of systemd's system.conf, e.g. `Manager.RuntimeWatchdogSec`.";
    };

    system.checks = mkOption {
      type = types.listOf types.package;
      default = [ ];
      internal = true;
      description = "Packages built with the system, usually to validate part of its configuration.";
    };

    services.postgresqlBackup = {
      enable = lib.mkEnableOption "PostgreSQL dumps";
      startAt = mkOption {
        type = types.either (types.listOf types.str) types.str;
        default = "*-*-* 01:15:00";
        description = "When the databases are dumped (systemd calendar event).";
      };
      backupAll = mkOption {
        type = types.bool;
        default = cfg.databases == [ ];
        description = "Dump all databases with pg_dumpall (exclusive with databases).";
      };
      backupAllExcept = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "With backupAll, databases to leave out.";
      };
      databases = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Databases to dump, one pg_dump each.";
      };
      location = mkOption {
        type = types.path;
        default = "/var/backup/postgresql";
        description = "Directory of the dumps.";
      };
      pgdumpOptions = mkOption {
        type = types.separatedString " ";
        default = "-C";
        description = "pg_dump options (not used with backupAll).";
      };
      compression = mkOption {
        type = types.enum [
          "none"
          "gzip"
          "zstd"
        ];
        default = "gzip";
        description = "Compression of the dumps.";
      };
      compressionLevel = mkOption {
        type = types.ints.between 1 19;
        default = 6;
        description = "Compression level (gzip 1-9, zstd 1-19).";
      };
    };
  };

  # What the nixpkgs module does with them: assertions, the directory, and a
  # oneshot service per dump whose `startAt` makes NixOS add a timer.
  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.backupAll -> cfg.databases == [ ];
        message = "services.postgresqlBackup.backupAll cannot be used together with services.postgresqlBackup.databases";
      }
      {
        assertion = cfg.backupAllExcept != [ ] -> cfg.databases == [ ];
        message = "services.postgresqlBackup.backupAllExcept cannot be used together with services.postgresqlBackup.databases";
      }
      {
        assertion =
          cfg.compression == "none"
          || (cfg.compression == "gzip" && cfg.compressionLevel <= 9)
          || cfg.compression == "zstd";
        message = "services.postgresqlBackup.compressionLevel must be 1-9 for gzip and 1-19 for zstd";
      }
    ];

    systemd.tmpfiles.rules = [ "d '${cfg.location}' 0700 postgres - - -" ];

    systemd.services =
      let
        dumpService = db: dumpCmd: {
          description = "Backup of ${db} database(s)";
          requires = [ "postgresql.target" ];
          path = [
            pkgs.coreutils
            config.services.postgresql.package
          ];
          script = ''
            umask 0077
            ${dumpCmd} | gzip -c > ${cfg.location}/${db}.sql.gz.in-progress
            mv ${cfg.location}/${db}.sql.gz.in-progress ${cfg.location}/${db}.sql.gz
          '';
          serviceConfig = {
            Type = "oneshot";
            User = "postgres";
          };
          startAt = cfg.startAt;
        };
      in
      if cfg.backupAll then
        { postgresqlBackup = dumpService "all" "pg_dumpall"; }
      else
        lib.listToAttrs (
          map (db: lib.nameValuePair "postgresqlBackup-${db}" (dumpService db "pg_dump ${cfg.pgdumpOptions} ${db}")) cfg.databases
        );
  };
}
