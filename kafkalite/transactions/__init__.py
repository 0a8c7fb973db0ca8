"""The transaction coordinator: transactional ids, their producer ids and epochs, and their
transactions (a state table with trio deadlines), persisted in ``__transaction_state``
through narrow ports (`kafkalite.transactions.port`); it knows nothing of the broker beyond
them."""
