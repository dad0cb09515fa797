# The machine the negative checks start from (valid on its own); each check
# in this folder breaks one thing and names the message NixOS must give.
{
  networking.hostName = "coop";
  system.stateVersion = "26.05";
  nixpkgs.hostPlatform = "x86_64-linux";
  security.acme = {
    acceptTerms = true;
    defaults.email = "it@coop.example.org";
  };
  services.cooperage = {
    enable = true;
    domain = "coop.example.org";
    organisation.name = "Test Co-op";
  };
}
