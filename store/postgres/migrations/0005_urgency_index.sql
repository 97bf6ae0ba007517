-- Version 5: the urgency index. Listings of the fleet's critical or high
-- findings read only the hosts that have some.

CREATE INDEX finding_details_urgency ON finding_details ((data->>'urgency'), host);
