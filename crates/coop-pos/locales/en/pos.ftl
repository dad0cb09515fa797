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
