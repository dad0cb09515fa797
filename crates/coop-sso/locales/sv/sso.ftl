sso-title = Medlemskonto
