## The member-directory administration, the bookkeeper appointment, invitations and password
## resets. (`admin-members-title` and `role-*` live in sso.ftl.)

admin-nav-label = Administration
admin-nav-invite = Invite a member
admin-nav-audit = Audit log

admin-status-invited = Invited
admin-status-active = Active
admin-status-suspended = Suspended
admin-status-left = Left

admin-search-label = Search
admin-search-hint = Part of a name or an email address, or a member number.
admin-search-submit = Search
admin-members-none = No members match.
admin-page-current = Page { $page }
admin-col-number = Number
admin-col-name = Name
admin-col-email = Email address
admin-col-status = Status
admin-col-roles = Roles
admin-page-previous = Previous page
admin-page-next = Next page
admin-pagination-label = Pages

admin-invite-title = Invite a member
admin-invite-intro = The new member gets the next member number and an email with a link to choose a password. The link works once, for 7 days.
admin-invite-email = Email address
admin-invite-name = Name
admin-invite-name-hint = As the member wants to be called.
admin-invite-lang = Language for emails
admin-invite-roles = Roles
admin-invite-submit = Send the invitation
admin-error-email = Enter an email address, like name@example.org.
admin-error-email-taken = A member with this email address already exists.
admin-error-name = Enter a name of at most 200 characters.
admin-error-lang = Choose one of the languages in the list.
admin-error-roles = Choose roles from the list only.

admin-invite-sent-title = Invitation created
admin-invite-sent-member = { $name } has member number { $number }.
admin-invite-sent-mailed = We sent the invitation to { $email }. The link in it works once, for 7 days.
admin-invite-not-configured = This co-op has no mail server set up, so nothing was sent. Give this link to { $name } yourself. It works once, for 7 days, and this page is the only place it is shown.
admin-invite-mail-failed = The invitation could not be sent by mail. Give this link to { $name } yourself, or try sending it again later from the member's page. It works once, for 7 days.
admin-invite-link-label = Invitation link
admin-invite-to-member = Go to { $name }'s page

admin-member-number = Member number
admin-member-email = Email address
admin-member-email-verified = confirmed
admin-member-username = User name
admin-member-lang = Language
admin-member-status = Status
admin-member-household = Household
admin-member-no-household = No household
admin-member-second-factor = Second sign-in step
admin-member-second-factor-on = Set up
admin-member-second-factor-off = Not set up
admin-member-you = This is you.

admin-roles-heading = Roles
admin-roles-hint = Bookkeepers and administrators must set up a second sign-in step the next time they sign in.
admin-roles-submit = Save roles
admin-error-self-admin = You cannot take away your own administrator role. Ask another administrator.

admin-status-heading = Status
admin-status-suspend = Suspend
admin-status-suspend-hint = A suspended member is signed out everywhere and cannot sign in until reactivated.
admin-status-reactivate = Reactivate
admin-status-leave = Mark as left
admin-error-self-status = You cannot suspend yourself or mark yourself as left.
admin-error-status = That change does not fit the member's current status. The page shows the status as it is now.

admin-household-heading = Household
admin-household-choose = Household
admin-household-none = No household
admin-household-new = Or start a new household
admin-household-new-hint = Give it a name, for example the family name. A new name takes precedence over the choice above.
admin-household-submit = Save household
admin-error-household = Choose a household from the list.
admin-error-household-name = A household name can have at most 200 characters.

admin-invite-again-heading = Invitation
admin-invite-again-hint = The member has not accepted the invitation yet. Sending it again makes earlier links stop working.
admin-invite-again-submit = Send the invitation again

admin-recent-heading = Recent changes
admin-notice-saved = The change has been saved.

admin-audit-title = Audit log
admin-audit-when = When
admin-audit-who = By
admin-audit-subject = Member
admin-audit-what = What
admin-audit-detail = Details
admin-audit-system = the system
admin-audit-none = Nothing has been recorded yet.
admin-audit-member-create = Member created
admin-audit-member-invite_issued = Invitation issued
admin-audit-member-invite_accepted = Invitation accepted
admin-audit-member-roles_changed = Roles changed
admin-audit-member-suspended = Suspended
admin-audit-member-reactivated = Reactivated
admin-audit-member-left = Marked as left
admin-audit-member-household_changed = Household changed
admin-audit-member-bookkeeper_appointed = Appointed bookkeeper
admin-audit-member-password_set = Password set
admin-audit-member-password_reset = Password reset
admin-audit-member-password_reset_requested = Password reset link asked for
admin-audit-member-totp_enrolled = Second sign-in step set up

appoint-title = Appoint a bookkeeper
appoint-intro-admins = In this co-op only administrators appoint bookkeepers.
appoint-number = Member number
appoint-number-hint = As on the member card, for example { $example }.
appoint-submit = Appoint as bookkeeper
appoint-error-number = Enter a member number, for example { $example }.
appoint-error-self = You cannot appoint yourself.

password-new = New password
password-new-hint = At least { $min } characters. A few words strung together make a good password.
password-repeat = Repeat the password
password-error-too-short = The password must have at least { $min } characters.
password-error-too-long = The password can have at most { $max } characters.
password-error-mismatch = The two passwords are not the same.

invite-title = Welcome to { $org }
invite-intro = Hello { $name }. Choose a password to finish setting up your membership. You will sign in with { $email }.
invite-submit = Finish setting up
invite-invalid-title = This invitation does not work any more
invite-invalid = The link has expired or has already been used. Ask the co-op to send you a new invitation.

forgot-title = Forgotten password
forgot-intro = Enter the email address you use for the co-op. We will send you a link to choose a new password.
forgot-email = Email address
forgot-submit = Send the link
forgot-sent = If { $email } belongs to a member, a link is on its way to it. The link works once, for one hour. If nothing arrives, check your spam folder.
forgot-error-email = Enter your email address, like name@example.org.
forgot-error-throttled = Too many links have been asked for. Wait an hour and try again.

reset-title = Choose a new password
reset-intro = Choose a new password for { $email }. You will be signed out everywhere else.
reset-submit = Save the new password
reset-invalid-title = This link does not work any more
reset-invalid = The link has expired or has already been used. You can ask for a new one.
reset-ask-again = Ask for a new link
reset-done = Your password has been changed and you have been signed out everywhere. Sign in with the new password.
reset-done-signed-in = Your password has been changed and you have been signed out everywhere else.

mail-invite-subject = Your invitation to { $org }
mail-invite-body =
    Hello { $name },

    you have been invited to become a member of { $org }. Open this link to choose a password:

    { $link }

    The link works once, for 7 days. If you did not expect this message, you can ignore it.
mail-reset-subject = Choose a new password for { $org }
mail-reset-body =
    Hello { $name },

    someone, probably you, asked to choose a new password for your account at { $org }. Open this link to do so:

    { $link }

    The link works once, for one hour. If you did not ask for it, you can ignore this message: your password stays as it is.
admin-audit-session-signed_in = Signed in
admin-audit-session-signed_in_again = Signed in again (asked for by an application)
admin-audit-session-signed_out = Signed out
admin-audit-session-revoked = Signed out a browser
admin-audit-token-code_reused = A sign-in code was used twice; its tokens were withdrawn
admin-audit-token-refresh_reused = A refresh token was used twice; the sign-in was withdrawn
admin-audit-till-denied = Till pairing refused
admin-audit-till-paired = Till paired
admin-audit-till-unpaired = Till unpaired
appoint-intro = Any member can appoint another member as bookkeeper of the buyers club. The member is asked to accept first; the administrators are told. A new bookkeeper sets up a second sign-in step the next time they sign in.
appoint-done = If { $number } is the number of an active member who is not a bookkeeper yet, they have been asked to accept, and the administrators have been told.
appoint-mail-subject = { $org }: { $appointee } appointed as bookkeeper
appoint-mail-body = { $appointer } has appointed { $appointee } ({ $number }) as bookkeeper of { $org }. The appointment takes effect when { $appointee } accepts it. If it should not, withdraw it on the member's page: { $link }
admin-audit-member-bookkeeper_accepted = Accepted the appointment as bookkeeper
admin-audit-member-bookkeeper_declined = Declined the appointment as bookkeeper
admin-audit-member-bookkeeper_withdrawn = Appointment as bookkeeper withdrawn
admin-audit-member-totp_reset = Second sign-in step reset
admin-appointment-heading = Appointment as bookkeeper
admin-appointment-open = Appointed by { $by } on { $when }; waiting for the member to accept.
admin-appointment-withdraw = Withdraw the appointment
admin-appointment-withdrawn = The appointment was withdrawn.
admin-totp-reset = Reset the second sign-in step
admin-totp-reset-hint = For a lost phone: the member is signed out everywhere and sets up a new authenticator app at the next sign-in.
admin-totp-reset-done = The second sign-in step was reset; the member sets up a new one at the next sign-in.
account-appointment-heading = You have been appointed bookkeeper
account-appointment-text = { $by } appointed you as bookkeeper on { $when }. As bookkeeper you confirm top-ups and see the accounts. If you accept, you sign in again and set up a second sign-in step.
account-appointment-accept = Accept
account-appointment-decline = Decline
account-appointment-accepted = You are now a bookkeeper. Sign in again to set up your second sign-in step.
account-appointment-declined = You declined the appointment.
