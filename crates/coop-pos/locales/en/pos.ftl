pos-tills-title = Tills
pos-tills-intro = Each till sells on without the network and uploads its sales when it can. Here is where each one stands.
pos-tills-caption = The tills and their uploads
pos-tills-none = No till has uploaded a sale yet.
pos-till = Till
pos-till-last-receipt = Last receipt received
pos-till-waiting = Waiting to upload
pos-till-last-seen = Last heard from
pos-till-pending = { $count ->
    [one] one sale
   *[other] { $count } sales
}
pos-till-since = since
pos-till-synced = nothing: up to date
pos-till-flagged = Receipt { $seq } was refused:
pos-till-clear = I have looked at it
pos-pin-title = Your till PIN
pos-pin-has = You have a PIN: the tills let you in with it, also when they are offline. Set a new one here.
pos-pin-none = You have no PIN yet. Choose one to unlock the tills.
pos-pin-new = New PIN
pos-pin-hint = 4 to 8 digits. The tills learn it within a minute.
pos-pin-again = The same PIN again
pos-pin-save = Save the PIN
pos-pin-done = Your PIN is saved.
pos-pin-invalid = A PIN is 4 to 8 digits.
pos-pin-mismatch = The two PINs are not the same.
pos-cashiers = Who can unlock the tills
pos-cashier-manager = manager
pos-cashier-remove = Take the PIN away
pos-cashier-remove-label = Take { $name }'s PIN away
