pos-tills-title = Kassor
pos-tills-intro = Varje kassa säljer vidare utan nätverk och skickar upp sina köp när den kan. Här syns var varje kassa står.
pos-tills-caption = Kassorna och deras uppladdningar
pos-tills-none = Ingen kassa har skickat upp något köp än.
pos-till = Kassa
pos-till-last-receipt = Senaste kvitto som tagits emot
pos-till-waiting = Väntar på att skickas
pos-till-last-seen = Senast hörd av
pos-till-pending = { $count ->
    [one] ett köp
   *[other] { $count } köp
}
pos-till-since = sedan
pos-till-synced = inget: i fas
pos-till-flagged = Kvitto { $seq } avvisades:
pos-till-clear = Jag har tittat på det
pos-pin-title = Din pinkod till kassan
pos-pin-has = Du har en pinkod: kassorna släpper in dig med den, även när de är offline. Välj en ny här.
pos-pin-none = Du har ingen pinkod än. Välj en för att låsa upp kassorna.
pos-pin-new = Ny pinkod
pos-pin-hint = 4 till 8 siffror. Kassorna får den inom en minut.
pos-pin-again = Samma pinkod igen
pos-pin-save = Spara pinkoden
pos-pin-done = Din pinkod är sparad.
pos-pin-invalid = En pinkod är 4 till 8 siffror.
pos-pin-mismatch = De två pinkoderna är inte lika.
pos-cashiers = Vilka som kan låsa upp kassorna
pos-cashier-manager = föreståndare
pos-cashier-remove = Ta bort pinkoden
pos-cashier-remove-label = Ta bort { $name }s pinkod
