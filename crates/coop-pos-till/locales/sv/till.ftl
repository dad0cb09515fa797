till-unlock-title = Lås upp kassan
till-unlock-who = Vem är du?
till-pin = Din pinkod
till-unlock = Lås upp
till-unlock-wrong = Pinkoden stämmer inte. Försök igen.
till-unlock-locked = För många fel pinkoder: vänta en minut
till-no-cashiers = Ingen kassör kan låsa upp kassan än: den har inte hört av servern. En föreståndare sätter kassörernas pinkoder på kooperativets server.
till-sale-title = Försäljning
till-cashier = Kassör:
till-lock = Lås kassan
till-last-sales = Senaste köpen
till-pending = { $count ->
    [one] Ett köp väntar på att skickas till servern
   *[other] { $count } köp väntar på att skickas till servern
}
till-since = sedan
till-code = Streckkod, PLU eller artikelnummer
till-code-hint = Skanna, eller skriv och tryck Enter.
till-quantity = Antal eller vikt i kg
till-quantity-hint = Lämna tomt för en styck.
till-add = Lägg till
till-basket = I korgen
till-item = Vara
till-amount = Belopp
till-change-line = Ändra
till-fixed-price = pris från etiketten
till-unit-each = st
till-unit-kg = kg
till-unit-l = l
till-member-price = medlemspris
till-quantity-of = Antal av { $name }
till-set = Ändra
till-void = Ta bort
till-void-of = Ta bort { $name }
till-total = Totalt
till-vat-at = Moms { $rate } %
till-net = netto
till-empty = Korgen är tom. Skanna första varan.
till-member = Medlem
till-member-remove = Ta bort medlemmen
till-member-only = Det här kooperativet säljer bara till medlemmar.
till-member-number = Medlemsnummer eller kort
till-member-attach = Koppla medlemmen
till-member-unknown = Ingen medlem har det numret i den här kassan.
till-member-not-active = Medlemmen är inte aktiv: hen betalar som gäst.
till-pay = Betalning
till-tender-cash = Kontant
till-tender-card = Kort
till-tender-wallet = Medlemskonto
till-tender-restricted = Värdebevis
till-training = Övningsköp (bokförs inte)
till-complete = Slutför köpet
till-park = Parkera korgen
till-parked = Parkerade korgar
till-lines = { $count ->
    [one] en rad
   *[other] { $count } rader
}
till-resume = Återuppta
till-park-empty = Det finns inget att parkera.
till-park-gone = Korgen är inte längre parkerad.
till-quantity-not-a-number = Antalet är inte ett tal.
till-amount-not-a-number = Ett belopp är inte ett tal.
till-line-fixed = Radens pris kommer från etiketten: ta bort den i stället.
till-receipt = Kvitto
till-org-number = Org.nr
till-training-receipt = ÖVNINGSKVITTO – INGET KVITTO
till-rounding = Öresavrundning
till-change = Växel
till-next-sale = Nästa köp
till-back = Tillbaka till köpet
till-no-sales = Inga köp än.
till-error-unknown = Ingen vara har koden { $code }. Kontrollera den eller fråga en föreståndare.
till-error-code-length = En kod har 1 till 64 tecken.
till-error-check-digit = Kodens sista siffra är { $found }, den borde vara { $expected }: skanna igen eller kontrollera det du skrev.
till-error-price-check-digit = Priset på etiketten stämmer inte: väg varan igen.
till-error-scan-length = En kod med { $len } siffror är varken en streckkod eller en PLU.
till-error-code = Koden går inte att läsa: { $detail }
till-error-label = Etiketten passar inte hur { $name } säljs.
till-error-inactive = { $name } säljs inte just nu.
till-error-needs-weight = { $name } säljs per vikt: väg den eller skriv vikten i kg.
till-error-quantity-not-positive = Antalet måste vara större än noll.
till-error-quantity-too-large = Antalet måste vara under 10 000.
till-error-quantity-whole = Varan säljs per styck: ett heltal.
till-error-quantity-grams = En vikt har högst tre decimaler (gram).
till-error-empty = Korgen är tom.
till-error-member-only = Det här kooperativet säljer bara till medlemmar: koppla en aktiv medlem först.
till-error-wallet-limit = Medlemskontot kan betala högst { $left } till medan kassan är offline.
till-error-wallet-member = Medlemskontot betalar bara för en medlem som är kopplad till köpet.
till-error-short = { $missing } återstår att betala.
till-error-non-cash-over = Kort, medlemskonto och värdebevis får inte betala mer än beloppet ({ $over } för mycket).
till-error-restricted = { $tender } betalar bara för varor som omfattas: högst { $eligible } här.
till-error-unknown-tender = Betalsättet { $tender } finns inte.
till-error-bad-amount = Ett belopp måste vara större än noll, i hela ören.
till-error-refund = En återbetalning betalar tillbaka exakt { $due }, inte { $given }.
till-error-generic = Kassan kunde inte göra det. Försök igen; händer det igen, ring en föreståndare.
till-shift = Pass
till-shift-needed = Inget pass är öppet: öppna ett med växelkassan innan du tar betalt.
till-shift-open = Öppna passet
till-shift-none = Inget pass är öppet i den här kassan.
till-shift-float = Växelkassa
till-shift-float-hint = Kontanterna i lådan vid start, i kronor.
till-x-report = X-rapport: passet hittills
till-z-report = Z-rapport: passet stängt
till-shift-opened = Öppnat
till-shift-closed = stängt
till-shift-sales = { $count ->
    [one] Ett köp
   *[other] { $count } köp
}
till-shift-returns = { $count ->
    [one] En retur
   *[other] { $count } returer
}
till-shift-training = { $count ->
    [one] Ett övningsköp (räknas inte)
   *[other] { $count } övningsköp (räknas inte)
}
till-shift-by-rate = Försäljning per momssats
till-shift-rate = Momssats
till-shift-vat = Moms
till-shift-tenders = Per betalsätt
till-shift-drawer = Kassalådan
till-shift-cash-in = Insättning
till-shift-cash-out = Uttag
till-shift-expected = Förväntade kontanter
till-shift-counted = Räknade kontanter
till-shift-over-short = Över (+) eller under (−)
till-shift-move = Insättning eller uttag
till-shift-direction = In i eller ut ur lådan
till-shift-why = Varför (för bokföringen)
till-shift-move-save = Registrera
till-shift-close = Stäng passet
till-shift-count-hint = Räkna lådan och skriv vad som finns i den.
till-shift-close-save = Stäng och skriv ut Z-rapporten
till-shift-recent = Senaste passen
till-shift-is-open = öppet
till-shift-already-open = Ett pass är redan öppet.
till-shift-none-open = Inget pass är öppet.
till-shift-amount = Ett belopp är noll eller mer, i hela ören.
till-shift-net = Netto
till-error-card-declined = Kortet nekades ({ $reason }). Inget såldes: ta ett annat kort eller ett annat betalsätt.
till-error-card-cancelled = Betalningen avbröts i terminalen. Inget såldes.
till-error-card-unknown = Terminalen svarade inte i tid: se i terminalen om kortet drogs innan du försöker igen. Inget såldes.
till-error-wallet-insufficient = Medlemskontot har { $available } att handla för. Ta resten på annat sätt.
till-error-wallet-inactive = Medlemmen är inte aktiv, så medlemskontot kan inte betala. Ta ett annat betalsätt.
