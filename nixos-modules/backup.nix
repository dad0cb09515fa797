# Nightly dumps of every Cooperage database (and Synapse's) with NixOS'
# services.postgresqlBackup: one compressed `pg_dump -C` per database in
# services.postgresqlBackup.location (/var/backup/postgresql by default),
# keeping the previous night's as <db>.prev.sql.gz. Copying them off the
# machine, and restoring, is described in docs/operators.md.
{ config, lib, ... }:
let
  cfg = config.services.cooperage;
in
{
  options.services.cooperage.backup = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = ''
        Whether to dump every Cooperage database nightly, with
        `services.postgresqlBackup` (whose options set where and how).
      '';
    };
    startAt = lib.mkOption {
      type = with lib.types; either str (listOf str);
      default = "*-*-* 01:15:00";
      example = "*-*-* 03:30:00";
      description = "When the dumps run (systemd calendar event, see systemd.time(7)).";
    };
  };

  config = lib.mkIf (cfg.enable && cfg.backup.enable) {
    services.postgresqlBackup = {
      enable = true;
      startAt = lib.mkDefault cfg.backup.startAt;
    };
  };
}
