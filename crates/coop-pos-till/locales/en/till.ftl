till-unlock-title = Unlock the till
till-unlock-who = Who are you?
till-pin = Your PIN
till-unlock = Unlock
till-unlock-wrong = That PIN is not right. Try again.
till-unlock-locked = Too many wrong PINs: wait a minute
till-no-cashiers = No cashier can unlock this till yet: the till has not heard from the server. A manager sets cashiers' PINs at the co-op's server.
till-sale-title = Sale
till-cashier = Cashier:
till-lock = Lock the till
till-last-sales = Last sales
till-pending = { $count ->
    [one] One sale waits to be sent to the server
   *[other] { $count } sales wait to be sent to the server
}
till-since = since
till-code = Barcode, PLU or article number
till-code-hint = Scan, or type and press Enter.
till-quantity = Quantity or weight in kg
till-quantity-hint = Leave empty for one piece.
till-add = Add
till-basket = In the basket
till-item = Item
till-amount = Amount
till-change-line = Change
till-fixed-price = price from the label
till-unit-each = pcs
till-unit-kg = kg
till-unit-l = l
till-member-price = member price
till-quantity-of = Quantity of { $name }
till-set = Set
till-void = Remove
till-void-of = Remove { $name }
till-total = Total
till-vat-at = VAT { $rate } %
till-net = net
till-empty = The basket is empty. Scan the first item.
till-member = Member
till-member-remove = Take the member off
till-member-only = This co-op sells to members only.
till-member-number = Member number or card
till-member-attach = Attach the member
till-member-unknown = No member has that number on this till.
till-member-not-active = That member is not active: they pay as a guest.
till-pay = Payment
till-tender-cash = Cash
till-tender-card = Card
till-tender-wallet = Member wallet
till-tender-restricted = Voucher
till-training = Training sale (not booked)
till-complete = Complete the sale
till-park = Park the basket
till-parked = Parked baskets
till-lines = { $count ->
    [one] one line
   *[other] { $count } lines
}
till-resume = Resume
till-park-empty = There is nothing to park.
till-park-gone = That basket is no longer parked.
till-quantity-not-a-number = The quantity is not a number.
till-amount-not-a-number = An amount is not a number.
till-line-fixed = That line's price comes from its label: remove it instead.
till-receipt = Receipt
till-org-number = Org. no.
till-training-receipt = TRAINING – NOT A RECEIPT
till-rounding = Rounding
till-change = Change
till-next-sale = Next sale
till-back = Back to the sale
till-no-sales = No sales yet.
till-error-unknown = No product has the code { $code }. Check it, or ask a manager.
till-error-code-length = A code has 1 to 64 characters.
till-error-check-digit = The code's last digit is { $found }, it should be { $expected }: scan it again or check what you typed.
till-error-price-check-digit = The price on this label does not add up: weigh the item again.
till-error-scan-length = A code of { $len } digits is neither a barcode nor a PLU.
till-error-code = This code cannot be read: { $detail }
till-error-label = The label does not fit how { $name } is sold.
till-error-inactive = { $name } is not on sale.
till-error-needs-weight = { $name } is sold by weight: weigh it or type the weight in kg.
till-error-quantity-not-positive = The quantity must be above zero.
till-error-quantity-too-large = The quantity must be below 10 000.
till-error-quantity-whole = This is sold by the piece: a whole number.
till-error-quantity-grams = A weight has at most three decimals (grams).
till-error-empty = The basket is empty.
till-error-member-only = This co-op sells to members only: attach an active member first.
till-error-wallet-limit = The member's wallet may pay at most { $left } more while the till is offline.
till-error-wallet-member = The wallet pays only for a member attached to the sale.
till-error-short = { $missing } is still to pay.
till-error-non-cash-over = Card, wallet and vouchers may not pay more than is due ({ $over } too much).
till-error-restricted = { $tender } pays only for eligible items: at most { $eligible } here.
till-error-unknown-tender = There is no tender { $tender }.
till-error-bad-amount = An amount must be above zero, in whole öre.
till-error-refund = A refund pays back exactly { $due }, not { $given }.
till-error-generic = The till could not do that. Try again; if it happens again, call a manager.
till-shift = Shift
till-shift-needed = No shift is open: open one with the float before taking money.
till-shift-open = Open the shift
till-shift-none = No shift is open on this till.
till-shift-float = Float
till-shift-float-hint = The cash in the drawer at the start, in kronor.
till-x-report = X report: the shift so far
till-z-report = Z report: the shift closed
till-shift-opened = Opened
till-shift-closed = closed
till-shift-sales = { $count ->
    [one] One sale
   *[other] { $count } sales
}
till-shift-returns = { $count ->
    [one] One return
   *[other] { $count } returns
}
till-shift-training = { $count ->
    [one] One training sale (not counted)
   *[other] { $count } training sales (not counted)
}
till-shift-by-rate = Sales by VAT rate
till-shift-rate = VAT rate
till-shift-vat = VAT
till-shift-tenders = By tender
till-shift-drawer = The drawer
till-shift-cash-in = Cash in
till-shift-cash-out = Cash out
till-shift-expected = Cash expected
till-shift-counted = Cash counted
till-shift-over-short = Over (+) or short (−)
till-shift-move = Cash in or out
till-shift-direction = Into or out of the drawer
till-shift-why = Why (for the books)
till-shift-move-save = Record it
till-shift-close = Close the shift
till-shift-count-hint = Count the drawer, then type what is in it.
till-shift-close-save = Close and print the Z report
till-shift-recent = Latest shifts
till-shift-is-open = open
till-shift-already-open = A shift is open already.
till-shift-none-open = No shift is open.
till-shift-amount = An amount is zero or more, in whole öre.
till-shift-net = Net
till-error-card-declined = The card was declined ({ $reason }). Nothing was sold: take another card or another tender.
till-error-card-cancelled = The payment was cancelled at the terminal. Nothing was sold.
till-error-card-unknown = The terminal did not answer in time: check on the terminal whether the card was charged before trying again. Nothing was sold.
till-error-wallet-insufficient = The member's wallet has { $available } to spend. Take the rest another way.
till-error-wallet-inactive = This member is not active, so their wallet cannot pay. Take another tender.
