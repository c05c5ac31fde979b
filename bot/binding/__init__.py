"""The insurance bureau's binding system, behind one interface (`service.BindingService`).

models.py    what goes in and out (pydantic)      errors.py   one typed error per domain error
service.py   the interface                        contract.py the REST contract, as data
signing.py   HMAC request signatures              http.py     the adapter for the real system
sandbox/     a realistic bureau: rules, roster, review, callbacks; also served over the contract
callback.py  POST /binding/callback               decisions.py record each decision exactly once
"""
