## Administration av medlemsregistret, utnämning av bokförare, inbjudningar och nya lösenord.
## (`admin-members-title` och `role-*` finns i sso.ftl.)

admin-nav-label = Administration
admin-nav-invite = Bjud in en medlem
admin-nav-audit = Ändringslogg

admin-status-invited = Inbjuden
admin-status-active = Aktiv
admin-status-suspended = Avstängd
admin-status-left = Utträdd

admin-search-label = Sök
admin-search-hint = En del av ett namn eller en e-postadress, eller ett medlemsnummer.
admin-search-submit = Sök
admin-members-none = Inga medlemmar matchar.
admin-page-current = Sida { $page }
admin-col-number = Nummer
admin-col-name = Namn
admin-col-email = E-postadress
admin-col-status = Status
admin-col-roles = Roller
admin-page-previous = Föregående sida
admin-page-next = Nästa sida
admin-pagination-label = Sidor

admin-invite-title = Bjud in en medlem
admin-invite-intro = Den nya medlemmen får nästa medlemsnummer och ett mejl med en länk för att välja lösenord. Länken fungerar en gång, i 7 dagar.
admin-invite-email = E-postadress
admin-invite-name = Namn
admin-invite-name-hint = Som medlemmen vill bli kallad.
admin-invite-lang = Språk för mejl
admin-invite-roles = Roller
admin-invite-submit = Skicka inbjudan
admin-error-email = Skriv en e-postadress, till exempel namn@example.org.
admin-error-email-taken = Det finns redan en medlem med den här e-postadressen.
admin-error-name = Skriv ett namn på högst 200 tecken.
admin-error-lang = Välj ett av språken i listan.
admin-error-roles = Välj bara roller ur listan.

admin-invite-sent-title = Inbjudan skapad
admin-invite-sent-member = { $name } har medlemsnummer { $number }.
admin-invite-sent-mailed = Vi har skickat inbjudan till { $email }. Länken i den fungerar en gång, i 7 dagar.
admin-invite-not-configured = Kooperativet har ingen e-postserver inställd, så ingenting skickades. Ge själv den här länken till { $name }. Den fungerar en gång, i 7 dagar, och visas bara på den här sidan.
admin-invite-mail-failed = Inbjudan kunde inte skickas med e-post. Ge själv den här länken till { $name }, eller försök skicka den igen senare från medlemmens sida. Den fungerar en gång, i 7 dagar.
admin-invite-link-label = Länk till inbjudan
admin-invite-to-member = Gå till sidan för { $name }

admin-member-number = Medlemsnummer
admin-member-email = E-postadress
admin-member-email-verified = bekräftad
admin-member-username = Användarnamn
admin-member-lang = Språk
admin-member-status = Status
admin-member-household = Hushåll
admin-member-no-household = Inget hushåll
admin-member-second-factor = Andra inloggningssteg
admin-member-second-factor-on = Inställt
admin-member-second-factor-off = Inte inställt
admin-member-you = Det här är du.

admin-roles-heading = Roller
admin-roles-hint = Bokförare och administratörer måste ställa in ett andra inloggningssteg nästa gång de loggar in.
admin-roles-submit = Spara roller
admin-error-self-admin = Du kan inte ta bort din egen administratörsroll. Be en annan administratör.

admin-status-heading = Status
admin-status-suspend = Stäng av
admin-status-suspend-hint = En avstängd medlem loggas ut överallt och kan inte logga in förrän medlemskapet återaktiveras.
admin-status-reactivate = Återaktivera
admin-status-leave = Markera som utträdd
admin-error-self-status = Du kan inte stänga av dig själv eller markera dig själv som utträdd.
admin-error-status = Den ändringen passar inte medlemmens nuvarande status. Sidan visar statusen som den är nu.

admin-household-heading = Hushåll
admin-household-choose = Hushåll
admin-household-none = Inget hushåll
admin-household-new = Eller starta ett nytt hushåll
admin-household-new-hint = Ge det ett namn, till exempel efternamnet. Ett nytt namn går före valet ovanför.
admin-household-submit = Spara hushåll
admin-error-household = Välj ett hushåll ur listan.
admin-error-household-name = Ett hushålls namn kan ha högst 200 tecken.

admin-invite-again-heading = Inbjudan
admin-invite-again-hint = Medlemmen har inte tackat ja till inbjudan än. Om du skickar den igen slutar tidigare länkar att fungera.
admin-invite-again-submit = Skicka inbjudan igen

admin-recent-heading = Senaste ändringar
admin-notice-saved = Ändringen är sparad.

admin-audit-title = Ändringslogg
admin-audit-when = När
admin-audit-who = Av
admin-audit-subject = Medlem
admin-audit-what = Vad
admin-audit-detail = Detaljer
admin-audit-system = systemet
admin-audit-none = Ingenting har loggats än.
admin-audit-member-create = Medlem skapad
admin-audit-member-invite_issued = Inbjudan utfärdad
admin-audit-member-invite_accepted = Inbjudan antagen
admin-audit-member-roles_changed = Roller ändrade
admin-audit-member-suspended = Avstängd
admin-audit-member-reactivated = Återaktiverad
admin-audit-member-left = Markerad som utträdd
admin-audit-member-household_changed = Hushåll ändrat
admin-audit-member-bookkeeper_appointed = Utnämnd till bokförare
admin-audit-member-password_set = Lösenord satt
admin-audit-member-password_reset = Nytt lösenord valt
admin-audit-member-password_reset_requested = Länk för nytt lösenord begärd
admin-audit-member-totp_enrolled = Andra inloggningssteg inställt

appoint-title = Utse en bokförare
appoint-intro-admins = I det här kooperativet utser bara administratörer bokförare.
appoint-number = Medlemsnummer
appoint-number-hint = Som på medlemskortet, till exempel { $example }.
appoint-submit = Utse till bokförare
appoint-error-number = Skriv ett medlemsnummer, till exempel { $example }.
appoint-error-self = Du kan inte utse dig själv.

password-new = Nytt lösenord
password-new-hint = Minst { $min } tecken. Några ord efter varandra blir ett bra lösenord.
password-repeat = Upprepa lösenordet
password-error-too-short = Lösenordet måste ha minst { $min } tecken.
password-error-too-long = Lösenordet kan ha högst { $max } tecken.
password-error-mismatch = De två lösenorden är inte likadana.

invite-title = Välkommen till { $org }
invite-intro = Hej { $name }! Välj ett lösenord för att bli klar med ditt medlemskap. Du loggar in med { $email }.
invite-submit = Bli klar
invite-invalid-title = Den här inbjudan fungerar inte längre
invite-invalid = Länken har gått ut eller har redan använts. Be kooperativet skicka en ny inbjudan.

forgot-title = Glömt lösenord
forgot-intro = Skriv e-postadressen du använder hos kooperativet. Vi skickar en länk där du kan välja ett nytt lösenord.
forgot-email = E-postadress
forgot-submit = Skicka länken
forgot-sent = Om { $email } tillhör en medlem är en länk på väg dit. Länken fungerar en gång, i en timme. Titta i skräpposten om ingenting kommer.
forgot-error-email = Skriv din e-postadress, till exempel namn@example.org.
forgot-error-throttled = För många länkar har begärts. Vänta en timme och försök igen.

reset-title = Välj ett nytt lösenord
reset-intro = Välj ett nytt lösenord för { $email }. Du loggas ut överallt annars.
reset-submit = Spara det nya lösenordet
reset-invalid-title = Den här länken fungerar inte längre
reset-invalid = Länken har gått ut eller har redan använts. Du kan begära en ny.
reset-ask-again = Begär en ny länk
reset-done = Ditt lösenord är ändrat och du har loggats ut överallt. Logga in med det nya lösenordet.
reset-done-signed-in = Ditt lösenord är ändrat och du har loggats ut överallt annars.

mail-invite-subject = Din inbjudan till { $org }
mail-invite-body =
    Hej { $name }!

    Du har blivit inbjuden att bli medlem i { $org }. Öppna den här länken för att välja ett lösenord:

    { $link }

    Länken fungerar en gång, i 7 dagar. Om du inte väntade dig det här meddelandet kan du strunta i det.
mail-reset-subject = Välj ett nytt lösenord för { $org }
mail-reset-body =
    Hej { $name }!

    Någon, troligen du, bad om att få välja ett nytt lösenord för ditt konto hos { $org }. Öppna den här länken för att göra det:

    { $link }

    Länken fungerar en gång, i en timme. Om du inte bad om den kan du strunta i det här meddelandet: ditt lösenord förblir som det är.
admin-audit-session-signed_in = Loggade in
admin-audit-session-signed_in_again = Loggade in igen (på begäran av ett program)
admin-audit-session-signed_out = Loggade ut
admin-audit-session-revoked = Loggade ut en webbläsare
admin-audit-token-code_reused = En inloggningskod användes två gånger; dess nycklar drogs tillbaka
admin-audit-token-refresh_reused = En förnyelsenyckel användes två gånger; inloggningen drogs tillbaka
admin-audit-till-denied = Parkoppling av kassa nekad
admin-audit-till-paired = Kassa parkopplad
admin-audit-till-unpaired = Kassa bortkopplad
appoint-intro = Alla medlemmar kan utse en annan medlem till bokförare för inköpsgruppen. Medlemmen får först godkänna det; administratörerna får veta. En ny bokförare ställer in ett andra inloggningssteg nästa gång hen loggar in.
appoint-done = Om { $number } är numret på en aktiv medlem som inte redan är bokförare har hen ombetts godkänna uppdraget, och administratörerna har fått veta.
appoint-mail-subject = { $org }: { $appointee } utsedd till bokförare
appoint-mail-body = { $appointer } har utsett { $appointee } ({ $number }) till bokförare i { $org }. Uppdraget gäller när { $appointee } har godkänt det. Om det inte ska gälla, dra tillbaka det på medlemmens sida: { $link }
admin-audit-member-bookkeeper_accepted = Godkände uppdraget som bokförare
admin-audit-member-bookkeeper_declined = Tackade nej till uppdraget som bokförare
admin-audit-member-bookkeeper_withdrawn = Uppdraget som bokförare återkallat
admin-audit-member-totp_reset = Andra inloggningssteget återställt
admin-appointment-heading = Uppdrag som bokförare
admin-appointment-open = Utsedd av { $by } den { $when }; väntar på att medlemmen godkänner.
admin-appointment-withdraw = Återkalla uppdraget
admin-appointment-withdrawn = Uppdraget återkallades.
admin-totp-reset = Återställ andra inloggningssteget
admin-totp-reset-hint = Om telefonen har kommit bort: medlemmen loggas ut överallt och ställer in en ny autentiseringsapp vid nästa inloggning.
admin-totp-reset-done = Det andra inloggningssteget har återställts; medlemmen ställer in ett nytt vid nästa inloggning.
account-appointment-heading = Du har utsetts till bokförare
account-appointment-text = { $by } utsåg dig till bokförare den { $when }. Som bokförare bekräftar du insättningar och ser räkenskaperna. Om du godkänner loggar du in igen och ställer in ett andra inloggningssteg.
account-appointment-accept = Godkänn
account-appointment-decline = Tacka nej
account-appointment-accepted = Du är nu bokförare. Logga in igen för att ställa in ditt andra inloggningssteg.
account-appointment-declined = Du tackade nej till uppdraget.
