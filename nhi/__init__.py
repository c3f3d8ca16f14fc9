"""National health insurance (国民健康保険): qualification, households, premiums."""
