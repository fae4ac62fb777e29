"""Several serving processes on one machine (SPEC §19, C{--processes N}).

The supervisor (the C{twistd} process) binds every listener once and starts N serving processes
that share the listening sockets; it replaces one that dies and passes a graceful stop on
(L{fazt.cluster.supervisor}). Its hub relays the event bus's messages between the processes
(L{fazt.cluster.hub}, L{fazt.cluster.procbus}). The pure parts (restart backoff, the layout of the
descriptors a child gets, the number of processes) are in L{fazt.cluster.policy}. A domain-level
package: it imports only C{fazt.base}.
"""
