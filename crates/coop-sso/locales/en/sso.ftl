sso-title = Member account
