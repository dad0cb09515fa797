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
